/**
 * The label column of a snapshot extracted without one: every row 0. Snapshots always carry a
 * 0/1 column (the classifier's target); an anomaly run without --eval-label never reads it.
 * Constants only, so workflows may import it.
 */
export const NO_LABEL_COLUMN = '__slipway_no_label';
