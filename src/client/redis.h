// A pipelined Redis connection on an event loop: commands are written as they come
// (batched into one send per loop iteration) and replies matched in order. Commands are
// formatted here (resp_array, resp_bulk) and replies parsed by hiredis's reader; the
// socket, timeouts and reconnects are ours, on the same loop as everything else, so a
// worker never blocks on Redis.
//
// States: connecting (commands are queued until the handshake is done), ready, and
// down (commands fail at once; the next attempt starts after a back-off of 100 ms
// doubling to 2 s, by itself or with the first command after it). A command without a
// reply within `timeout` fails with "timeout"; the connection is then considered stuck
// and is replaced.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "client/resolver.h"
#include "net/event_loop.h"
#include "net/output_buffer.h"

struct redisReader;
struct redisReply;

namespace portico::client {

struct RedisOptions {
  std::string host;
  uint16_t port = 6379;
  std::string username;
  std::string password;
  int64_t db = 0;
  int64_t timeout_ms = 250;
  int64_t connect_timeout_ms = 1'000;
};

// RESP, the request side: a command is an array of bulk strings. Written by hand (not
// with hiredis's formatter, which goes through sprintf and malloc) because a rate-limit
// decision formats one per request.
void resp_array(std::string& out, size_t count);
void resp_bulk(std::string& out, std::string_view arg);
void resp_bulk(std::string& out, int64_t arg);

class RedisClient final : public net::IoHandler, public net::Flushable {
 public:
  // reply is null on failure, with error set ("timeout", "connection lost: ...", or
  // the text of a Redis error reply, which also comes with reply set).
  using Callback = std::function<void(const redisReply* reply, std::string_view error)>;
  // Connection changes, for logs and metrics: up, or down (also each failed attempt)
  // with the reason.
  using StateCallback = std::function<void(bool up, std::string_view why)>;

  RedisClient(net::EventLoop& loop, RedisOptions options, StateCallback on_state);
  ~RedisClient() override;  // pending callbacks are dropped, not called
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  bool down() const { return state_ == State::kDown; }
  // Sends (or queues while connecting) a command already in RESP (resp_array +
  // resp_bulk). False when the connection is down: nothing is sent and the callback is
  // not called.
  bool send(std::string_view command, Callback callback);
  size_t in_flight() const { return pending_.size(); }

  void on_io(uint32_t events) override;
  void flush() override;

 private:
  enum class State { kConnecting, kReady, kDown };
  struct Pending {
    Callback callback;  // empty for handshake commands
    int64_t deadline_ms = 0;  // never earlier than those of the commands before it
    bool handshake = false;
  };

  void connect();
  void connect_to(const net::Address& address);
  void send_handshake();
  void read();
  void on_reply(redisReply* reply);
  void on_timer();
  // Closes the socket and fails what is pending; a timeout is reported to callbacks as
  // "timeout", anything else as "connection lost: why".
  void fail_connection(std::string why, bool timed_out = false);
  void close_socket();
  void arm_timer();

  net::EventLoop& loop_;
  RedisOptions options_;
  StateCallback on_state_;
  Resolver resolver_;
  State state_ = State::kDown;
  int fd_ = -1;
  bool connecting_socket_ = false;
  redisReader* reader_ = nullptr;
  net::OutputBuffer out_;
  std::string queued_;  // commands formatted while connecting, sent after the handshake
  std::deque<Pending> pending_;     // sent (or queued), in order
  size_t handshake_left_ = 0;
  net::Timer timer_;      // command deadlines, connect timeout, reconnect back-off
  int64_t backoff_ms_ = 100;
  int64_t reconnect_at_ms_ = 0;
  int64_t connect_deadline_ms_ = 0;
  uint64_t attempt_ = 0;
  std::shared_ptr<bool> alive_;
};

}  // namespace portico::client
