#include "reply.hpp"

namespace pgfolio::http {

Reply problem_reply(const Problem& problem) {
  Reply reply;
  reply.status = problem.status();
  reply.content_type = kProblemContentType;
  reply.body = problem_body(problem);
  if (problem.retry_after_seconds > 0)
    reply.headers.emplace_back("Retry-After", std::to_string(problem.retry_after_seconds));
  if (!problem.allow.empty()) reply.headers.emplace_back("Allow", problem.allow);
  return reply;
}

}  // namespace pgfolio::http
