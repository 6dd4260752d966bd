"""The model's life cycle: walk-forward evaluation, the final fit, the model card, the training
candidate, the promotion decision, the versioned store and the forecaster every consumer asks.
Every model family is registered in `families`; `design` is the feature pipeline every fit
runs, so the walk-forward and the saved model see their inputs the same way.

May import `volpred.data` (features, targets), `volpred.runtime` and `volpred.config`.
"""
