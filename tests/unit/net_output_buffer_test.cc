// OutputBuffer: bytes leave in order whatever the socket accepts at a time, nothing is
// lost or duplicated across partial writes, and errors are reported.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>


#include <string>

#include "net/output_buffer.h"

namespace portico::net {
namespace {

struct SocketPair {
  int writer = -1;
  int reader = -1;
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    writer = fds[0];
    reader = fds[1];
    int small = 4096;  // the kernel rounds this up, but it stays far below what we write
    setsockopt(writer, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  }
  ~SocketPair() {
    if (writer >= 0) ::close(writer);
    if (reader >= 0) ::close(reader);
  }
  std::string drain() {
    std::string got;
    char buf[65536];
    while (true) {
      ssize_t n = ::recv(reader, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }
};

std::string pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + (i * 7) % 23);
  return s;
}

TEST(OutputBuffer, SmallAppendFlushesWhole) {
  SocketPair p;
  OutputBuffer out;
  out.append("hello ");
  out.data().append("world");
  EXPECT_EQ(out.pending(), 11u);
  EXPECT_EQ(out.flush(p.writer), OutputBuffer::Status::kDone);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(p.drain(), "hello world");
}

TEST(OutputBuffer, LargeWritesKeepOrderAcrossPartialSends) {
  SocketPair p;
  OutputBuffer out;
  std::string a = pattern(300'000, 'a');
  std::string b = pattern(200'000, 'A');
  std::string expected;
  out.append("head;");
  expected += "head;";
  iovec first[2] = {{a.data(), a.size()}, {const_cast<char*>(";"), 1}};
  auto st = out.write(p.writer, first, 2);
  expected += a + ";";
  EXPECT_EQ(st, OutputBuffer::Status::kBlocked);  // the socket cannot take 300 KB at once
  EXPECT_GT(out.pending(), 0u);
  iovec second[1] = {{b.data(), b.size()}};
  out.write(p.writer, second, 1);
  expected += b;

  std::string got;
  for (int i = 0; i < 10'000 && got.size() < expected.size(); ++i) {
    got += p.drain();
    if (!out.empty()) out.flush(p.writer);
  }
  got += p.drain();
  EXPECT_TRUE(out.empty());
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected);
}

TEST(OutputBuffer, MorePiecesThanOneSendmsgTakes) {
  SocketPair p;
  OutputBuffer out;
  std::string parts[12];
  iovec iov[12];
  std::string expected;
  for (int i = 0; i < 12; ++i) {
    parts[i] = std::string(static_cast<size_t>(i + 1), static_cast<char>('a' + i));
    iov[i] = {parts[i].data(), parts[i].size()};
    expected += parts[i];
  }
  out.append("<");
  expected = "<" + expected;
  EXPECT_EQ(out.write(p.writer, iov, 12), OutputBuffer::Status::kBlocked);  // pieces 8+ wait
  while (!out.empty()) ASSERT_NE(out.flush(p.writer), OutputBuffer::Status::kError);
  EXPECT_EQ(p.drain(), expected);
}

TEST(OutputBuffer, ReportsErrorWhenPeerIsGone) {
  SocketPair p;
  ::close(p.reader);
  p.reader = -1;
  OutputBuffer out;
  out.append("lost");
  EXPECT_EQ(out.flush(p.writer), OutputBuffer::Status::kError);
  iovec iov{const_cast<char*>("x"), 1};
  EXPECT_EQ(out.write(p.writer, &iov, 1), OutputBuffer::Status::kError);
}

}  // namespace
}  // namespace portico::net
