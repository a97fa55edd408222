"""Time-series forecasting: frequencies, regular panels, lag features, candidate models, backtests."""
