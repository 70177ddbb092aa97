-- pgfolio's batch valuation (extension/pg/valuation_functions.cpp).
SELECT * FROM pgfolio.portfolio_values();
