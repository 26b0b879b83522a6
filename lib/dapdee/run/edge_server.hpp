// dapdee-run serve: the edge server. It holds the whole model; a client names its plan (exit
// and V_e) and the server builds, caches and runs that plan's edge part.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "dapdee/protocol/tensor_wire.hpp"

namespace dapdee {

class ModelSplitter;

// How to serve.
struct ServeOptions {
  std::string model_path;
  std::string listen = "127.0.0.1:7411";      // loopback unless told otherwise
  int threads = 1;                            // OpenCV threads
  uint32_t max_frame_bytes = kDefaultMaxFrameBytes;
  double frame_timeout_s = 30;                // a frame whose rest does not come in this long is dropped
  int max_clients = 8;                        // connections served at once; more get an error reply
  int max_cached_plans = 16;                  // edge parts kept built
};

// What the server did (for logs and tests).
struct ServeStats {
  uint64_t connections = 0, frames = 0, errors = 0, plans_built = 0;
};

// A running edge server (accept loop and one thread per connection).
class EdgeServer {
 public:
  // Loads the model (refilling absent weights) and binds. Throws Error(model or host:port, ...).
  explicit EdgeServer(const ServeOptions& options);
  // Same, with a model already loaded (shared with an in-process client).
  EdgeServer(const ServeOptions& options, std::shared_ptr<const ModelSplitter> model);
  ~EdgeServer();
  EdgeServer(const EdgeServer&) = delete;
  EdgeServer& operator=(const EdgeServer&) = delete;

  // The port bound (useful with port 0).
  int port() const;
  // Serves until stop(); connection errors never end it. Never throws.
  void serve();
  // Stops serve() and closes every connection (callable from another thread). Never fails.
  void stop();
  ServeStats stats() const;
  const ModelSplitter& model() const;

  struct Impl;  // the server's state (public only so its connection handlers can name it)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace dapdee
