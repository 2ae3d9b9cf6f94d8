import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM files for a TLS test: a cluster CA, the frontend's certificate, good and bad clients. */
export interface TestCertificates {
  dir: string;
  /** The CA that signed the server's and the good client's certificates. */
  ca: string;
  serverCert: string;
  serverKey: string;
  /** The DNS name in the server's certificate (connect with it as the server name override). */
  serverName: string;
  clientCert: string;
  clientKey: string;
  /** An object store's certificate from the same CA, for https://127.0.0.1 (or localhost). */
  storageCert: string;
  storageKey: string;
  /** Two more clients of the right CA: a worker's certificate and the one that renews it. */
  workerCert: string;
  workerKey: string;
  renewedCert: string;
  renewedKey: string;
  /** Signed by the right CA but valid only in January 2020. */
  expiredCert: string;
  expiredKey: string;
  /** A CA that signed nothing here, and a client certificate from it. */
  otherCa: string;
  strangerCert: string;
  strangerKey: string;
}

/**
 * Makes the files with the openssl command (a real X.509 toolchain, as a cluster's operators use):
 * P-256 keys, v3 certificates with the extensions TLS libraries insist on (CA basic constraints,
 * subject alternative names, extended key usage).
 */
export async function makeTestCertificates(
  dir: string,
  serverName = 'temporal.slipway.test',
): Promise<TestCertificates> {
  await mkdir(dir, { recursive: true });
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const newKey = (name: string) =>
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', f(name));
  const makeCa = async (name: string, cn: string) => {
    await newKey(`${name}.key`);
    await openssl(
      'req',
      '-x509',
      '-new',
      '-key',
      f(`${name}.key`),
      '-out',
      f(`${name}.crt`),
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
  };
  const extensions = async (name: string, lines: string[]) => {
    await writeFile(f(`${name}.ext`), `${lines.join('\n')}\n`);
    return f(`${name}.ext`);
  };
  const leaf = async (name: string, ca: string, cn: string, ext: string[]) => {
    await newKey(`${name}.key`);
    await openssl('req', '-new', '-key', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    await openssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f(`${ca}.crt`),
      '-CAkey',
      f(`${ca}.key`),
      '-CAcreateserial',
      '-out',
      f(`${name}.crt`),
      '-days',
      '2',
      '-extfile',
      await extensions(name, ext),
    );
  };
  const clientExt = ['basicConstraints=CA:FALSE', 'keyUsage=digitalSignature', 'extendedKeyUsage=clientAuth'];

  await makeCa('ca', 'Slipway test cluster CA');
  await makeCa('other-ca', 'Some other CA');
  await leaf('server', 'ca', serverName, [
    'basicConstraints=CA:FALSE',
    'keyUsage=digitalSignature',
    'extendedKeyUsage=serverAuth',
    `subjectAltName=DNS:${serverName}`,
  ]);
  await leaf('storage', 'ca', 'localhost', [
    'basicConstraints=CA:FALSE',
    'keyUsage=digitalSignature',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  await leaf('client', 'ca', 'slipway-worker', clientExt);
  await leaf('worker', 'ca', 'slipway-worker', clientExt);
  await leaf('renewed', 'ca', 'slipway-worker', clientExt);
  await leaf('stranger', 'other-ca', 'slipway-worker', clientExt);

  // An expired client certificate: `openssl x509` only counts days from now, `openssl ca` takes dates.
  await newKey('expired.key');
  await openssl(
    'req',
    '-new',
    '-key',
    f('expired.key'),
    '-out',
    f('expired.csr'),
    '-subj',
    '/CN=slipway-worker',
  );
  await writeFile(f('index.txt'), '');
  await writeFile(f('serial'), '1000\n');
  await writeFile(
    f('ca.cnf'),
    [
      '[ ca ]',
      'default_ca = test_ca',
      '[ test_ca ]',
      `database = ${f('index.txt')}`,
      `new_certs_dir = ${dir}`,
      `serial = ${f('serial')}`,
      'default_md = sha256',
      'policy = any_name',
      'x509_extensions = client_ext',
      '[ any_name ]',
      'commonName = supplied',
      '[ client_ext ]',
      ...clientExt,
      '',
    ].join('\n'),
  );
  await openssl(
    'ca',
    '-batch',
    '-config',
    f('ca.cnf'),
    '-cert',
    f('ca.crt'),
    '-keyfile',
    f('ca.key'),
    '-in',
    f('expired.csr'),
    '-out',
    f('expired.crt'),
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200201000000Z',
    '-notext',
  );
  return {
    dir,
    ca: f('ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    serverName,
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    storageCert: f('storage.crt'),
    storageKey: f('storage.key'),
    workerCert: f('worker.crt'),
    workerKey: f('worker.key'),
    renewedCert: f('renewed.crt'),
    renewedKey: f('renewed.key'),
    expiredCert: f('expired.crt'),
    expiredKey: f('expired.key'),
    otherCa: f('other-ca.crt'),
    strangerCert: f('stranger.crt'),
    strangerKey: f('stranger.key'),
  };
}
