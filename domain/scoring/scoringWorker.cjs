// One onnxruntime session on a thread of its own (see threadedScorer.ts). onnxruntime-node's
// session.run computes on the thread that calls it, so on the main thread it would stop reading
// and writing for as long as the model runs; here it only stops this thread. Plain JavaScript, so
// the worker starts without a TypeScript loader.
const { parentPort, workerData } = require('node:worker_threads');
const ort = require('onnxruntime-node');

const { onnx, inputName, outputName, intraOpThreads } = workerData;
const opened = ort.InferenceSession.create(
  onnx,
  intraOpThreads === undefined ? {} : { intraOpNumThreads: intraOpThreads },
);

parentPort.on('message', async (message) => {
  try {
    const session = await opened;
    const tensor = new ort.Tensor('float32', message.x, [message.rows, message.features]);
    const result = await session.run({ [inputName]: tensor }, [outputName]);
    const output = result[outputName];
    parentPort.postMessage({ id: message.id, data: output.data, dims: output.dims });
  } catch (error) {
    parentPort.postMessage({ id: message.id, error: String(error?.message || error) });
  }
});
