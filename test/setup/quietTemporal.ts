import { DefaultLogger, Runtime } from '@temporalio/worker';

// Test output should show test results; workers in tests report only warnings and errors.
Runtime.install({ logger: new DefaultLogger('WARN') });
