// The plan cache and the standby pool (standby_pool.h).
#include "standby_pool.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>

namespace cordon::binding {
namespace {

constexpr size_t kMaxCachedSandboxes = 8;
constexpr size_t kMaxStandbys = 2;
constexpr uint64_t kStandbyIdleMs = 5000;

}  // namespace

CachedSandbox* StandbyPool::Lookup(double key) {
  for (size_t i = 0; i < sandboxes_.size(); i++) {
    if (sandboxes_[i].key != key) continue;
    if (i > 0) std::rotate(sandboxes_.begin(), sandboxes_.begin() + i, sandboxes_.begin() + i + 1);
    CachedSandbox* cached = &sandboxes_.front();
    if (cached->plan->uid == getuid() && cached->plan->gid == getgid()) return cached;
    for (Slot& slot : standbys_) {
      if (slot.key == key) slot.key = -1;  // never taken again; it expires
    }
    sandboxes_.erase(sandboxes_.begin());
    return nullptr;
  }
  return nullptr;
}

CachedSandbox* StandbyPool::Remember(double key, std::shared_ptr<const SandboxPlan> plan) {
  if (sandboxes_.size() >= kMaxCachedSandboxes) sandboxes_.pop_back();
  sandboxes_.insert(sandboxes_.begin(), CachedSandbox{key, std::move(plan), 0});
  return &sandboxes_.front();
}

void StandbyPool::Supersede(double oldKey) {
  for (auto it = standbys_.begin(); it != standbys_.end();) {
    if (it->key == oldKey) {
      DiscardOffLoop(std::move(it->standby));
      it = standbys_.erase(it);
    } else {
      ++it;
    }
  }
}

// While a standby launches its command, the host thread would only wait for its verdict: the
// next spawn's standby is made then (an exec loop's next spawn is of the same sandbox) rather
// than on the next idle turn, where its clone would sit between the command's exit and its
// delivery. Measured here: ~60 µs less per spawn of an exec loop.
struct StandbyPool::NextStandby {
  StandbyPool* pool;
  double key;
  std::shared_ptr<const SandboxPlan> plan;
  bool made = false;
};

void StandbyPool::MakeNext(void* arg) {
  NextStandby* next = static_cast<NextStandby*>(arg);
  next->made = next->pool->Make(next->key, next->plan);
}

int StandbyPool::Spawn(double key, bool prewarm, CachedSandbox* cached,
                       const std::shared_ptr<const SandboxPlan>& sandbox, const CommandPlan& command,
                       SpawnResult* result) {
  std::unique_ptr<Standby> standby = key != 0 && prewarm ? Take(key) : nullptr;
  const bool wantsStandby = cached && prewarm && StandbySupported() && (sandbox->namespaceFlags & CLONE_NEWNS) &&
                            sandbox->listeners.empty() && ++cached->spawns >= 2;
  NextStandby next{this, key, sandbox};
  int rc;
  if (standby) {
    rc = LaunchStandby(standby.get(), command, result, wantsStandby ? MakeNext : nullptr, &next);
    standby.reset();
    if (rc == kStandbyUnusable) rc = cordon::Spawn(*sandbox, command, result);
  } else {
    rc = cordon::Spawn(*sandbox, command, result);
  }
  if (next.made) {
    ArmExpiry();
  } else if (wantsStandby) {
    SchedulePrewarm(key);
  }
  return rc;
}

size_t StandbyPool::ReleaseAll() {
  size_t count = standbys_.size();
  for (Slot& slot : standbys_) DiscardStandby(slot.standby.get());
  standbys_.clear();
  prewarmKeys_.clear();
  if (prewarmIdle_) uv_idle_stop(prewarmIdle_);
  if (expiry_) uv_timer_stop(expiry_);
  return count;
}

void StandbyPool::Teardown() {
  for (Slot& slot : standbys_) DiscardStandby(slot.standby.get());
  standbys_.clear();
  prewarmKeys_.clear();
  auto closeHandle = [](uv_handle_t* h) {
    uv_close(h, [](uv_handle_t* closed) { delete closed; });
  };
  if (prewarmIdle_) closeHandle(reinterpret_cast<uv_handle_t*>(prewarmIdle_));
  if (expiry_) closeHandle(reinterpret_cast<uv_handle_t*>(expiry_));
  prewarmIdle_ = nullptr;
  expiry_ = nullptr;
}

std::unique_ptr<Standby> StandbyPool::Take(double key) {
  for (auto it = standbys_.begin(); it != standbys_.end(); ++it) {
    if (it->key == key) {
      std::unique_ptr<Standby> s = std::move(it->standby);
      standbys_.erase(it);
      return s;
    }
  }
  return nullptr;
}

// Makes a standby for key unless one is there or the slots are full; true when it made one.
// Full: the ones there wait for their sandboxes (or expire). Evicting them would make three
// sandboxes used in turn pay for a standby per spawn and use none.
bool StandbyPool::Make(double key, const std::shared_ptr<const SandboxPlan>& plan) {
  for (const Slot& slot : standbys_) {
    if (slot.key == key) return false;
  }
  if (standbys_.size() >= kMaxStandbys) return false;
  std::unique_ptr<Standby> standby;
  if (StartStandby(plan, &standby) != 0) return false;  // the next spawn clones as usual
  standbys_.push_back({key, uv_now(loop_), std::move(standby)});
  return true;
}

void StandbyPool::SchedulePrewarm(double key) {
  if (prewarmIdle_ == nullptr) {
    prewarmIdle_ = new uv_idle_t();
    expiry_ = new uv_timer_t();
    uv_idle_init(loop_, prewarmIdle_);
    uv_timer_init(loop_, expiry_);
    prewarmIdle_->data = this;
    expiry_->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(prewarmIdle_));
    uv_unref(reinterpret_cast<uv_handle_t*>(expiry_));
  }
  for (double k : prewarmKeys_) {
    if (k == key) return;
  }
  prewarmKeys_.push_back(key);
  uv_idle_start(prewarmIdle_, OnPrewarmIdle);
}

void StandbyPool::OnPrewarmIdle(uv_idle_t* idle) {
  StandbyPool* pool = static_cast<StandbyPool*>(idle->data);
  uv_idle_stop(idle);
  std::vector<double> keys;
  keys.swap(pool->prewarmKeys_);
  for (double key : keys) {
    for (const CachedSandbox& c : pool->sandboxes_) {
      if (c.key == key) pool->Make(key, c.plan);
    }
  }
  uv_update_time(pool->loop_);
  pool->ArmExpiry();
}

void StandbyPool::ArmExpiry() {
  if (standbys_.empty() || expiry_ == nullptr) return;
  uint64_t oldest = standbys_.front().createdMs;
  for (const Slot& slot : standbys_) oldest = std::min(oldest, slot.createdMs);
  uint64_t now = uv_now(loop_);
  uint64_t due = oldest + kStandbyIdleMs > now ? oldest + kStandbyIdleMs - now : 0;
  uv_timer_start(expiry_, OnExpiry, due, 0);
}

void StandbyPool::OnExpiry(uv_timer_t* timer) {
  StandbyPool* pool = static_cast<StandbyPool*>(timer->data);
  uint64_t now = uv_now(pool->loop_);
  for (auto it = pool->standbys_.begin(); it != pool->standbys_.end();) {
    if (now - it->createdMs >= kStandbyIdleMs) {
      pool->DiscardOffLoop(std::move(it->standby));
      it = pool->standbys_.erase(it);
    } else {
      ++it;
    }
  }
  pool->ArmExpiry();
}

// Kills and reaps a standby on the threadpool (the reap waits for its exit, and its mount
// tree is torn down with it).
void StandbyPool::DiscardOffLoop(std::unique_ptr<Standby> standby) {
  uv_work_t* req = new uv_work_t();
  req->data = standby.release();
  int err = uv_queue_work(
      loop_, req, [](uv_work_t* r) { DiscardStandby(static_cast<Standby*>(r->data)); },
      [](uv_work_t* r, int /*status*/) {
        delete static_cast<Standby*>(r->data);
        delete r;
      });
  if (err != 0) {
    std::unique_ptr<Standby> s(static_cast<Standby*>(req->data));
    DiscardStandby(s.get());
    delete req;
  }
}

}  // namespace cordon::binding
