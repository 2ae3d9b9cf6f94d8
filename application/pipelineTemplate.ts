/**
 * The starting pipeline file `slipway init` writes: every setting a run takes, at the reference
 * default, each with a comment saying what it does. It runs as it is (on synthetic data), and a
 * unit test parses it, so it never drifts from the schema (contracts/pipelineFile.ts).
 */
export function pipelineFileTemplate(options: { model?: string; source?: string } = {}): string {
  const model = options.model ?? 'card-fraud';
  const source = options.source ?? 'synthetic:fraud?rows=20000&seed=7';
  return `# Slipway pipeline file: what \`slipway run -f ${'<this file>'}\`, \`slipway schedule create -f\` and \`slipway tune -f\` run.
# Keep it in git; the version it produces records this file's sha256 and text.
# Flags given on the command line override what is written here.
# Editors complete and check keys with the JSON Schema schemas/slipway.schema.json of Slipway.
version: 1

# The registered model this run adds a version to (lowercase; "team/name" for a namespace).
model: ${model}

# The data: a CSV path, file://..., s3://bucket/key or synthetic:fraud?rows=N&seed=S.
source: ${JSON.stringify(source)}
# The 0/1 label column.
target: Class
# Feature columns in order; leave it out to use every column but the target.
# features: [V1, V2, V3, Amount]
# Features holding text (computer, account, ...): frequency-encoded inside the exported graph,
# which takes each as a string input named after it. Each must be one of the features.
# categorical: [computer, account]

# The held-out share for evaluation, and the seed of the shuffle.
split:
  testFraction: 0.25
  seed: 42
  stratify: true

# The network and its training. The last layer must be dense, 1 unit, sigmoid (a probability).
# Activations: relu, sigmoid, tanh, linear, elu, selu, softplus.
spec:
  layers:
    - { type: dense, units: 256, activation: relu }
    - { type: dense, units: 256, activation: relu }
    - { type: dropout, rate: 0.3 }
    - { type: dense, units: 256, activation: relu }
    - { type: dropout, rate: 0.3 }
    - { type: dense, units: 1, activation: sigmoid }
  optimizer: adam        # adam, sgd or rmsprop
  learningRate: 0.01
  batchSize: 2048
  epochs: 50
  seed: 42               # weights' initialisation and batch order

# Loss weight per class: inverse (1/count, for rare positives), balanced or none.
classWeights: inverse
# Probability at or above which a row is predicted positive.
threshold: 0.5
# Reuse earlier steps' outputs when code, inputs and settings are the same.
cache: true

# What stands between a trained version and the alias operations use.
gate:
  metric:
    # Absolute limits on the held-out split, e.g. { minRecall: 0.7, maxFpr: 0.01 }; also
    # minPrecision, minF1, minRocAuc, minPrAuc. With none set, the baseline below stands in.
    thresholds: {}
    # The bar without thresholds: beat the trivial scorers by these margins.
    baseline:
      prAucMargin: 0.1
      minLikelihoodRatio: 10
    # Compared with the version behind the alias (the champion).
    champion:
      keyMetric: prAuc   # recall, precision, fpr, f1, rocAuc or prAuc
      maxRegression: 0.01
  review:
    # true: a blessed version waits for one of the approvers (never the person who started it).
    required: false
    approvers: []
    timeoutSeconds: 604800  # silence after 7 days counts as a rejection
  # false: register the version and stop there.
  promote: true
  alias: production

# Used by \`slipway schedule create -f\` only: retrain when the source has changed.
# Give exactly one of cron (UTC) or every.
# schedule:
#   cron: "0 3 * * *"
#   every: 1d
#   jitter: 5m
#   catchupWindow: 1h
#   paused: false

# Used by \`slipway tune -f\` only: a search over the spec. Each trial trains the spec above with
# its values put in; the best (lowest validation loss) is evaluated, gated and registered.
# Keys: spec.learningRate, spec.optimizer, spec.batchSize, spec.epochs, spec.seed,
# spec.layers[i].units, spec.layers[i].activation, spec.layers[i].rate (i counts from 0).
# Values: a list, or (random, halving) { range: [low, high], scale: linear | log }.
# tune:
#   method: halving      # grid (every combination of lists), random, or halving (random + successive halving)
#   trials: 12           # random and halving
#   parallel: 2          # trials training at once, at most
#   seed: 1              # the sampler's seed
#   halving: { eta: 3 }  # keep the best 1/eta of each rung; they train eta times longer
#   space:
#     spec.learningRate: { range: [0.001, 0.05], scale: log }
#     spec.layers[0].units: [64, 128, 256]
#     spec.layers[2].rate: { range: [0.1, 0.5] }
`;
}
