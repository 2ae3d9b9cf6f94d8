/** The label column of the reference data set (the credit-card fraud CSV): every step's default target. */
export const DEFAULT_TARGET_COLUMN = 'Class';
