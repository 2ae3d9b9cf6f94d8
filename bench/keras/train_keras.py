"""Keras side of `npm run bench`: trains the reference network on the exact rows Slipway trains on.

Reads the data folder bench/run.ts wrote (meta.json; x_train.f32, y_train.u8, x_test.f32: scaled
float32 and 0/1 labels, row-major), trains Dense(256 relu) x3 with dropout 0.3 after the 2nd and
3rd and a sigmoid output (Adam lr from meta, binary cross-entropy, the given batch size, class
weights 1/count from meta), times each epoch and `predict` on the held-out rows, writes the
held-out probabilities to keras_test_proba.f32 and prints one JSON line on stdout. Metrics are
computed by the TypeScript runner from those probabilities, with the same code for both sides.

    python train_keras.py <data folder>
"""

import json
import os
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402


class EpochTimer(keras.callbacks.Callback):
    """Wall time and loss per epoch; the first includes graph tracing, like tfjs' warm-up epoch."""

    def __init__(self):
        super().__init__()
        self.epochs = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        loss = float((logs or {}).get("loss", float("nan")))
        self.epochs.append({"seconds": seconds, "loss": loss})
        # Progress on stderr (bench/run.ts passes it through); stdout carries only the JSON result.
        total = self.params.get("epochs")
        print(f"epoch {epoch + 1}/{total}: {seconds:.2f} s, loss {loss:.3e}", file=sys.stderr, flush=True)


def build(n_features, dropout, seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(n_features,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: train_keras.py <data folder written by bench/run.ts> [seed]")
    folder = sys.argv[1]
    with open(os.path.join(folder, "meta.json")) as f:
        meta = json.load(f)
    # With a seed: another seed's run for the quality spread, scored once, predict not timed.
    proba_file = "keras_test_proba.f32"
    if len(sys.argv) == 3:
        meta["seed"] = int(sys.argv[2])
        meta["predictRepeats"] = 0
        proba_file = "keras_test_proba_seed%d.f32" % meta["seed"]
    n = meta["nFeatures"]
    x_train = np.fromfile(os.path.join(folder, "x_train.f32"), dtype=np.float32).reshape(-1, n)
    y_train = np.fromfile(os.path.join(folder, "y_train.u8"), dtype=np.uint8).astype(np.float32)
    x_test = np.fromfile(os.path.join(folder, "x_test.f32"), dtype=np.float32).reshape(-1, n)
    if x_train.shape[0] != meta["trainRows"] or x_test.shape[0] != meta["testRows"]:
        sys.exit(f"{folder}: the files do not hold the rows meta.json announces; rerun bench/run.ts")

    model = build(n, meta["dropout"], meta["seed"])
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=meta["learningRate"]),
        loss="binary_crossentropy",
    )
    timer = EpochTimer()
    started = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        batch_size=meta["batchSize"],
        epochs=meta["epochs"],
        class_weight={0: meta["classWeights"]["negative"], 1: meta["classWeights"]["positive"]},
        shuffle=True,
        verbose=0,
        callbacks=[timer],
    )
    train_seconds = time.perf_counter() - started

    batch = meta["predictBatch"]
    proba = model.predict(x_test, batch_size=batch, verbose=0).reshape(-1)  # warm-up: traces the graph
    predict_seconds = []
    for _ in range(meta["predictRepeats"]):
        t0 = time.perf_counter()
        proba = model.predict(x_test, batch_size=batch, verbose=0).reshape(-1)
        predict_seconds.append(time.perf_counter() - t0)
    proba.astype(np.float32).tofile(os.path.join(folder, proba_file))

    print(
        json.dumps(
            {
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
                "numpy": np.__version__,
                "interOpThreads": tf.config.threading.get_inter_op_parallelism_threads(),
                "intraOpThreads": tf.config.threading.get_intra_op_parallelism_threads(),
                "jitCompile": str(getattr(model, "jit_compile", "unknown")),
                "parameters": int(model.count_params()),
                "epochs": timer.epochs,
                "trainSeconds": train_seconds,
                "predictSeconds": predict_seconds,
                "maxRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
