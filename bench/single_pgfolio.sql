-- pgfolio's single-portfolio valuation (extension/pg/valuation_functions.cpp).
SELECT pgfolio.portfolio_valuation(:id);
