"""The peer of `slipway apply` in `npm run bench`: what a data scientist runs instead.

    python apply_pandas.py apply <model folder> <input.csv> <output.csv>
    python apply_pandas.py read <input.csv>

`apply`: pandas read_csv, the features scaled with the exported scaler, Keras predict, the label
(probability >= threshold) and the probability added as columns, to_csv. The network is rebuilt
from the weights of the very ONNX file Slipway scores with (peer.json and weights.f32, written
by bench/lib/onnxWeights.ts), so both compute the same function; the first 1,000 probabilities
go to peer_proba.f32 so the runner can compare them with apply's output. `read`: read_csv
alone, beside Slipway's extraction. Prints one JSON line: seconds per phase, CPU seconds, peak RSS.
"""

import json
import os
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def build(folder):
    import keras

    with open(os.path.join(folder, "peer.json")) as f:
        meta = json.load(f)
    flat = np.fromfile(os.path.join(folder, "weights.f32"), dtype=np.float32)
    n = len(meta["features"])
    mean, std, at = flat[:n], flat[n : 2 * n], 2 * n
    layers = [keras.Input(shape=(n,))]
    weights = []
    for layer in meta["layers"]:
        layers.append(keras.layers.Dense(layer["units"], activation=layer["activation"]))
        size = layer["inputs"] * layer["units"]
        weights.append(flat[at : at + size].reshape(layer["inputs"], layer["units"]))
        at += size
        weights.append(flat[at : at + layer["units"]])
        at += layer["units"]
    model = keras.Sequential(layers)
    model.set_weights(weights)
    return meta, mean, std, model, keras.__version__


def apply(folder, source, target_path):
    meta, mean, std, model, keras_version = build(folder)
    target = meta["target"]
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    frame = pd.read_csv(source)
    t1 = time.perf_counter()
    x = (frame[meta["features"]].to_numpy(dtype=np.float32) - mean) / std
    proba = model.predict(x, batch_size=8192, verbose=0).reshape(-1)
    t2 = time.perf_counter()
    frame[f"predicted({target})"] = (proba >= meta["threshold"]).astype(np.int8)
    frame[f"probability({target})"] = proba
    frame.to_csv(target_path, index=False)
    t3 = time.perf_counter()
    cpu = cpu_seconds() - cpu0
    proba[:1000].astype(np.float32).tofile(os.path.join(folder, "peer_proba.f32"))
    return {
        "pandas": pd.__version__,
        "keras": keras_version,
        "rows": int(len(frame)),
        "seconds": t3 - t0,
        "readSeconds": t1 - t0,
        "predictSeconds": t2 - t1,
        "writeSeconds": t3 - t2,
        "cpuSeconds": cpu,
        "maxRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def read(source):
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    frame = pd.read_csv(source)
    seconds = time.perf_counter() - t0
    return {
        "pandas": pd.__version__,
        "rows": int(len(frame)),
        "seconds": seconds,
        "cpuSeconds": cpu_seconds() - cpu0,
        "maxRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "apply":
        print(json.dumps(apply(*sys.argv[2:])))
    elif len(sys.argv) == 3 and sys.argv[1] == "read":
        print(json.dumps(read(sys.argv[2])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
