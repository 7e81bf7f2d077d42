// A NATS connection with its JetStream context: auth, TLS, reconnect forever with backoff and
// jitter, and connection events (disconnected, reconnected, closed, async errors) that other
// layers observe through listeners.
#pragma once

#include "transport/ack_sink.hpp"
#include "transport/config.hpp"
#include "transport/expected.hpp"
#include "transport/handle.hpp"
#include "transport/login.hpp"
#include "transport/server_info.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace smith::transport {

/// What happened to the connection.
enum class connection_event_kind : std::uint8_t {
  /// The link to the server dropped; the client reconnects by itself.
  disconnected,
  /// The link is back (also sent once when a first connect that was retried succeeds).
  reconnected,
  /// The connection is closed for good. `detail` is empty when this process closed it (close,
  /// drain); otherwise the library gave up on its own (the server refused the login twice in a
  /// row) and `detail` says why.
  closed,
  /// The server or the library reported an asynchronous error (slow consumer, permissions).
  async_error,
};

std::string_view to_string(connection_event_kind kind) noexcept;

struct connection_event {
  connection_event_kind kind;
  std::string detail; ///< the server URL, or the error text
};

class connection final : public ack_sink {
public:
  using listener = std::function<void(const connection_event&)>;

  /// Connects. With retry_on_failed_connect, an unreachable server is not an error: the
  /// connection keeps trying and reports `reconnected` once it gets through.
  static expected<std::shared_ptr<connection>> connect(const connection_config& cfg);

  ~connection() override;

  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // -- properties -------------------------------------------------------------------------------

  /// Connected, to a server of a supported version.
  bool connected() const;

  /// The version of the server last connected to (its INFO line), once known.
  std::optional<server_version> server() const;

  /// The URL of the server in use, empty while disconnected.
  std::string connected_url() const;

  /// Why the library closed the connection for good on its own (see
  /// connection_event_kind::closed); empty while it has not.
  std::string lost_reason() const;

  /// Times the connection came back after a loss.
  std::uint64_t reconnects() const noexcept {
    return reconnects_.load();
  }

  const connection_config& config() const noexcept {
    return cfg_;
  }

  // -- events -----------------------------------------------------------------------------------

  /// Registers `fn`; it runs on a nats.c thread and must not block. Returns a token for
  /// remove_listener.
  std::uint64_t add_listener(listener fn);
  /// Once this returns, the listener is not running and is never called again (it may capture
  /// what its owner destroys next). A listener may remove itself or another.
  void remove_listener(std::uint64_t token);

  // -- operations -------------------------------------------------------------------------------

  /// Sends everything buffered and waits for the server's PONG.
  expected<void> flush(std::chrono::milliseconds timeout);

  /// On a connection with coalesce_writes: writes what is buffered now instead of within
  /// nats.c's millisecond, without blocking the caller (a thread of the connection writes it,
  /// with a PING; calls made while that one is under way make one more write, not one each).
  /// Does nothing on a connection that writes each publish at once. Any thread.
  void flush_soon();

  /// Stops subscriptions, flushes publishes, then closes; for shutdown.
  expected<void> drain(std::chrono::milliseconds timeout);

  /// Closes now. Idempotent.
  void close();

  /// A delivered message's acknowledgement (ack_sink): published to its reply subject.
  expected<void> send_ack(const char* reply, std::string_view body,
                          std::string_view confirm_to) override;
  expected<void> request_ack(const char* reply, std::string_view body,
                             std::chrono::milliseconds timeout) override;

  /// Keeps `obj` alive as long as this connection: for state that nats.c callbacks of this
  /// connection may still reach after its owner is gone.
  void keep_alive(std::shared_ptr<void> obj);

  // -- native handles (transport internals only) -----------------------------------------------

  natsConnection* native() const noexcept {
    return conn_.get();
  }

  /// The JetStream context for management calls (streams, consumers, sync publish).
  jsCtx* jetstream() const noexcept {
    return js_.get();
  }

private:
  explicit connection(connection_config cfg);

  void emit(connection_event_kind kind, std::string detail);

  /// Reads the connected server's version; an error when it is older than MisterSmith supports.
  /// A version that cannot be read (a server that starts with TLS) is logged, not an error.
  expected<void> check_server();

  static void on_disconnected(natsConnection* nc, void* self);
  static void on_reconnected(natsConnection* nc, void* self);
  static void on_closed(natsConnection* nc, void* self);
  static void on_error(natsConnection* nc, natsSubscription* sub, natsStatus st, void* self);
  static int64_t reconnect_delay(natsConnection* nc, int attempts, void* self);

  connection_config cfg_;
  std::vector<secret_file> secrets_; // read by nats.c at each connect: outlives conn_
  options_handle opts_;
  connection_handle conn_;
  js_handle js_;
  std::atomic<std::uint64_t> reconnects_{0};
  std::atomic<bool> closing_{false};     // a disconnect we asked for is not worth a warning
  std::atomic<bool> unsupported_{false}; // the server in use is too old: never "connected"
  std::optional<server_version> server_; // guarded by mtx_
  mutable std::mutex mtx_;
  std::condition_variable closed_cv_;
  bool closed_ = false;
  std::string lost_; // guarded by mtx_: why the library closed the connection, if it did
  std::uint64_t next_token_ = 1;
  std::map<std::uint64_t, listener> listeners_;
  std::mutex emit_mtx_;      // held while listeners are called
  std::thread::id emitting_; // the thread calling listeners (guarded by mtx_)
  std::vector<std::shared_ptr<void>> kept_;
  class write_kicker;
  std::unique_ptr<write_kicker> kicker_; // with coalesce_writes only
};

} // namespace smith::transport
