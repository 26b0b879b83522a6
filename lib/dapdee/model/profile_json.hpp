// Writing `dapdee-profile/1`: the one serialiser every profile writer fills in (the OpenCV
// profiler, the ONNX Runtime import, the roofline and the fitted predictors); `parse_profile` in
// profile.hpp is the one reader.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace dapdee {

// A profile to write. The fields every profile has, in the order they are written (format,
// device, model, runtime, predicted, <about...>, nodes, total_ms, <details...>); `about` and
// `details` carry each writer's own fields, in their order.
struct ProfileDoc {
  std::string device;
  std::string model;
  std::string runtime;  // what measured or predicted it
  bool predicted = false;
  nlohmann::ordered_json about = nlohmann::ordered_json::object();    // written between "predicted" and "nodes"
  nlohmann::ordered_json nodes = nlohmann::ordered_json::object();    // DAG node name -> {"ms": ..., ...}
  double total_ms = 0;
  nlohmann::ordered_json details = nlohmann::ordered_json::object();  // written after "total_ms"
};

// The profile as dapdee-profile/1 JSON text (indent 1, invalid UTF-8 replaced, newline at the
// end). Never fails: the writers check their times (check_time) before filling the document.
std::string profile_to_json(const ProfileDoc& doc);

}  // namespace dapdee
