// The sandbox plans read from JS, cached under the key src/plan.ts gives each merged plan (a new
// key whenever the plan changes, so an exec loop converts mounts and BPF once), and the standby
// children (standby.h) kept for them: which to keep, when to make one, when to let one go.
// A sandbox spawned a second time gets one made for its next spawn: while its standby launches
// the command, or else on the loop's next idle turn (the host thread is idle while the command
// runs). At most kMaxStandbys exist; one unused for kStandbyIdleMs is discarded; none keeps the
// loop alive.
#pragma once
#include <stdint.h>
#include <uv.h>

#include <memory>
#include <vector>

#include "../plan.h"
#include "../spawn.h"
#include "../standby.h"

namespace cordon::binding {

struct CachedSandbox {
  double key = 0;
  std::shared_ptr<const SandboxPlan> plan;
  int spawns = 0;
};

class StandbyPool {
 public:
  explicit StandbyPool(uv_loop_t* loop) : loop_(loop) {}

  // The cached plan for key (now the most recently used), or nullptr: none, or one read before
  // the host changed its uid/gid (its id maps would be wrong; it and its standby are dropped).
  CachedSandbox* Lookup(double key);
  CachedSandbox* Remember(double key, std::shared_ptr<const SandboxPlan> plan);

  // Discards the standbys of a plan that another (same sandbox, paths changed) replaces: they
  // would only hold a slot until they expire, leaving the new plan without.
  void Supersede(double oldKey);

  // Runs command as Spawn does, in key's standby when there is one (prewarm), and arranges the
  // next spawn's standby. cached: key's entry (Lookup or Remember), or nullptr for no key.
  int Spawn(double key, bool prewarm, CachedSandbox* cached, const std::shared_ptr<const SandboxPlan>& sandbox,
            const CommandPlan& command, SpawnResult* result);

  // Kills and reaps every standby (releaseStandbys); returns how many there were.
  size_t ReleaseAll();
  // The environment goes: every standby is discarded and the loop handles are closed.
  void Teardown();

 private:
  struct Slot {
    double key = 0;
    uint64_t createdMs = 0;
    std::unique_ptr<Standby> standby;
  };
  struct NextStandby;

  std::unique_ptr<Standby> Take(double key);
  bool Make(double key, const std::shared_ptr<const SandboxPlan>& plan);
  void SchedulePrewarm(double key);
  void ArmExpiry();
  void DiscardOffLoop(std::unique_ptr<Standby> standby);
  static void MakeNext(void* next);
  static void OnPrewarmIdle(uv_idle_t* idle);
  static void OnExpiry(uv_timer_t* timer);

  uv_loop_t* loop_;
  std::vector<CachedSandbox> sandboxes_;  // most recently used first
  std::vector<Slot> standbys_;
  std::vector<double> prewarmKeys_;       // standbys to make on the next idle turn
  uv_idle_t* prewarmIdle_ = nullptr;
  uv_timer_t* expiry_ = nullptr;
};

}  // namespace cordon::binding
