// The OpenAPI 3.0 document served at /api/v1/openapi.json, generated from the route table
// so that the documentation cannot drift from what the router serves.
#pragma once

#include <string>
#include <vector>

#include "routes.hpp"

namespace pgfolio::http {

std::string build_openapi_document(const std::vector<Route>& routes, size_t max_body_bytes);

}  // namespace pgfolio::http
