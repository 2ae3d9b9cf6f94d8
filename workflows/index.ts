// The workflow bundle's entry point: every workflow the worker registers is exported here.
export { extractDatasetWorkflow } from './extractDataset';
export { collectGarbage } from './gc';
export { importModel } from './importModel';
export {
  changeNamespacePolicy,
  changeVisibility,
  promoteVersion,
  recordChange,
  rollbackAlias,
} from './manualChanges';
export { deliverNotification } from './notify';
export { scheduledRetrain } from './scheduledRetrain';
export { trainAnomaly } from './trainAnomaly';
export { trainToDeploy } from './trainToDeploy';
export { tuneToDeploy } from './tuneToDeploy';
export { tuneTrial } from './tuneTrial';
