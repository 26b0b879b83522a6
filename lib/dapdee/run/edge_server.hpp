// dapdee-run serve: the edge server. It holds the whole model; a client names its plan (exit
// and V_e) and the server builds, caches and runs that plan's edge part. One worker runs every
// client's frames in the order they arrived (one FIFO queue: the shared edge of the stream
// model); each connection has a reader and a writer thread, so a slow client stalls only itself.
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
  double frame_timeout_s = 30;                // a frame (and the hello) must arrive whole within this
  double idle_timeout_s = 300;                // a connection silent this long after its hello is closed
  int max_clients = 8;                        // connections served at once; more get an error reply
  int max_cached_plans = 16;                  // edge parts kept built
  int max_queued_frames = 16;                 // per client: frames waiting or unsent before it is not read
};

// What the server did (for logs and tests).
struct ServeStats {
  uint64_t connections = 0, frames = 0, errors = 0, plans_built = 0;
  uint64_t refused = 0;    // connections refused as busy (--max-clients)
  uint64_t timed_out = 0;  // connections closed for a missing hello, a slow frame or idleness
  uint64_t max_queue = 0;  // the longest the edge's FIFO queue has been (frames)
  uint64_t throttled = 0;  // times a client's reading paused at --max-queued-frames
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
