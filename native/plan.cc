// The plan's own copy of its Landlock ruleset fd (plan.h).
#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

namespace cordon {

std::shared_ptr<SandboxPlan> NewOwningSandboxPlan() {
  return std::shared_ptr<SandboxPlan>(new SandboxPlan, [](SandboxPlan* p) {
    if (p->landlockRulesetFd >= 0) close(p->landlockRulesetFd);
    delete p;
  });
}

int TakeRulesetCopy(SandboxPlan* plan) {
  if (plan->landlockRulesetFd < 0) return 0;
  plan->landlockRulesetFd = fcntl(plan->landlockRulesetFd, F_DUPFD_CLOEXEC, 3);
  return plan->landlockRulesetFd < 0 ? -errno : 0;
}

}  // namespace cordon
