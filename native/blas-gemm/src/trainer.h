#ifndef SLIPWAY_TRAINER_H
#define SLIPWAY_TRAINER_H

#include <node_api.h>

/* Adds createTrainer, trainBatch, lossAndGradient, predict, parameterCount and setTrainerThreads to the addon's exports. */
void trainer_register(napi_env env, napi_value exports);

#endif
