#include "retrieve/stage.h"

namespace strata::retrieve {

Status StageRun::CheckDeadline() const {
  if (std::chrono::steady_clock::now() > deadline) {
    return Status::Invalid("budget_limits.max_time_ms",
                           "the pipeline ran out of its time budget in stage '" + name + "'", "budget_exceeded");
  }
  return Status::Ok();
}

const std::vector<StageDef>& AllStages() {
  static const std::vector<StageDef> stages = [] {
    std::vector<StageDef> out;
    AddSearchStages(out);
    AddFilterStages(out);
    AddSortStages(out);
    AddReduceStages(out);
    AddApplyStages(out);
    return out;
  }();
  return stages;
}

const StageDef* FindStage(const std::string& id) {
  for (const auto& s : AllStages()) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

Json ParamsSchema(Json properties) {
  return {{"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
}

double ScoreOf(const Json& doc) {
  auto it = doc.find("score");
  return it != doc.end() && it->is_number() ? it->get<double>() : 0.0;
}

}  // namespace strata::retrieve
