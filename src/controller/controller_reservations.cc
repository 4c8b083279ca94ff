// Advance reservations in the controller: kept as one store document, changed only by
// administrators, handed to every scheduling pass.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/strings.h"
#include "controller/controller.h"

namespace shoal {
namespace {

constexpr char kReservationsDocument[] = "reservations";

std::string ToDocument(const std::vector<Reservation>& all) {
  Json list = Json::array();
  for (const Reservation& r : all) list.push_back(ReservationToJson(r));
  return Json{{"reservations", std::move(list)}}.dump();
}

}  // namespace

Status Controller::LoadReservations() {
  auto doc = store_->LoadDocument(kReservationsDocument);
  if (!doc.ok()) return doc.status();
  std::vector<Reservation> all;
  if (doc->has_value()) {
    Json j = Json::parse(**doc, nullptr, false);
    if (j.is_discarded() || !j.contains("reservations") || !j["reservations"].is_array()) {
      return Internal("the stored reservations are unreadable");
    }
    for (const Json& one : j["reservations"]) {
      auto r = ReservationFromJson(one);
      if (!r.ok()) return Internal("a stored reservation is unreadable: " + r.status().message());
      all.push_back(std::move(r).value());
    }
  }
  WriteLock lock = LockForChange();
  reservations_ = std::move(all);
  return Status::Ok();
}

Status Controller::MayChangeReservationsLocked(std::optional<uint32_t> requester_uid) const {
  if (!requester_uid) return Status::Ok();
  const std::string name = UserName(*requester_uid);
  if (EffectiveAdminLevelLocked(*requester_uid, name) >= AdminLevel::kOperator) return Status::Ok();
  return PermissionDenied("Access/permission denied: user '" +
                          (name.empty() ? std::to_string(*requester_uid) : name) +
                          "' may not change reservations (needs root, SlurmUser or AdminLevel "
                          "Operator)");
}

std::vector<Reservation> Controller::CurrentReservationsLocked(int64_t now) const {
  std::vector<Reservation> out;
  out.reserve(reservations_.size());
  for (const Reservation& r : reservations_) {
    Reservation c = r;
    RollForward(c, now);
    if (c.end_time > now) out.push_back(std::move(c));
  }
  return out;
}

ReservationEnv Controller::ReservationEnvLocked(const std::vector<Reservation>& current,
                                                std::map<std::string, int64_t>& busy_until,
                                                int64_t now) const {
  for (const auto& [id, job] : live_jobs_) {
    if (job->state != JobState::kRunning && job->state != JobState::kCompleting &&
        job->state != JobState::kSuspended) {
      continue;
    }
    const int64_t end =
        job->state == JobState::kCompleting
            ? now
            : EndOf(job->start_time, EstimateOf(job->req, FindPartitionLocked(job->req.partition)));
    for (const std::string& n : job->nodes) {
      int64_t& until = busy_until[n];
      until = std::max(until, end);
    }
  }
  ReservationEnv env;
  env.nodes = &nodes_;
  env.partitions = &partitions_;
  env.reservations = &current;
  env.busy_until = &busy_until;
  env.now = now;
  return env;
}

Status Controller::CommitReservations(std::vector<Reservation> next) {
  StoreOp op;
  op.kind = StoreOp::Kind::kSaveDocument;
  op.doc_name = kReservationsDocument;
  op.doc_body = ToDocument(next);
  Status s = store_->Write({std::move(op)});
  if (!s.ok()) return s;
  WriteLock lock = LockForChange();
  reservations_ = std::move(next);
  if (pass_in_flight_) reservations_changed_during_pass_ = true;
  TriggerSchedule();
  return Status::Ok();
}

Result<std::string> Controller::CreateReservation(const std::vector<std::string>& words,
                                                  std::optional<uint32_t> requester_uid,
                                                  int64_t now) {
  auto req = ParseReservationRequest(words);
  if (!req.ok()) return req.status();
  std::lock_guard<std::mutex> serial(reservation_change_mu_);
  std::vector<Reservation> next;
  {
    ReadLock lock(mu_);
    Status may = MayChangeReservationsLocked(requester_uid);
    if (!may.ok()) return may;
    next = CurrentReservationsLocked(now);
    std::map<std::string, int64_t> busy;
    auto built = BuildReservation(*req, nullptr, ReservationEnvLocked(next, busy, now));
    if (!built.ok()) return built.status();
    next.push_back(std::move(built).value());
  }
  std::sort(next.begin(), next.end(),
            [](const Reservation& a, const Reservation& b) { return a.name < b.name; });
  Status s = CommitReservations(std::move(next));
  if (!s.ok()) return s;
  spdlog::info("reservation {} created", *req->name);
  return *req->name;
}

Status Controller::UpdateReservation(const std::string& name, const std::vector<std::string>& words,
                                     std::optional<uint32_t> requester_uid, int64_t now) {
  auto req = ParseReservationRequest(words);
  if (!req.ok()) return req.status();
  std::lock_guard<std::mutex> serial(reservation_change_mu_);
  std::vector<Reservation> next;
  {
    ReadLock lock(mu_);
    Status may = MayChangeReservationsLocked(requester_uid);
    if (!may.ok()) return may;
    next = CurrentReservationsLocked(now);
    auto it = std::find_if(next.begin(), next.end(),
                           [&](const Reservation& r) { return r.name == name; });
    if (it == next.end()) return NotFound("Requested reservation is invalid");
    std::map<std::string, int64_t> busy;
    auto built = BuildReservation(*req, &*it, ReservationEnvLocked(next, busy, now));
    if (!built.ok()) return built.status();
    *it = std::move(built).value();
  }
  Status s = CommitReservations(std::move(next));
  if (s.ok()) spdlog::info("reservation {} updated", name);
  return s;
}

Status Controller::DeleteReservation(const std::string& name, std::optional<uint32_t> requester_uid,
                                     int64_t now) {
  std::lock_guard<std::mutex> serial(reservation_change_mu_);
  std::vector<Reservation> next;
  {
    ReadLock lock(mu_);
    Status may = MayChangeReservationsLocked(requester_uid);
    if (!may.ok()) return may;
    next = CurrentReservationsLocked(now);
    auto it = std::find_if(next.begin(), next.end(),
                           [&](const Reservation& r) { return r.name == name; });
    if (it == next.end()) return NotFound("Requested reservation is invalid");
    next.erase(it);
  }
  Status s = CommitReservations(std::move(next));
  if (s.ok()) spdlog::info("reservation {} deleted", name);
  return s;
}

std::vector<Controller::ReservationRow> Controller::ListReservations(int64_t now) const {
  ReadLock lock(mu_);
  std::vector<ReservationRow> rows;
  for (Reservation& r : CurrentReservationsLocked(now)) {
    const uint64_t cpus = ReservedCpus(r, nodes_);
    rows.push_back({std::move(r), cpus});
  }
  return rows;
}

}  // namespace shoal
