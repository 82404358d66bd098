#include "discovery/source.h"

#include "discovery/dns_source.h"
#include "discovery/etcd_source.h"
#include "discovery/file_source.h"

namespace portico::discovery {

std::unique_ptr<Source> make_source(net::EventLoop& loop, const config::Discovery& d, Source::Callbacks callbacks) {
  switch (d.kind) {
    case config::Discovery::Kind::kDns:
      return std::make_unique<DnsSource>(loop, d.dns, std::move(callbacks));
    case config::Discovery::Kind::kFile:
      return std::make_unique<FileSource>(loop, d.file, std::move(callbacks));
    case config::Discovery::Kind::kEtcd:
      return std::make_unique<EtcdSource>(loop, d.etcd, std::move(callbacks));
    case config::Discovery::Kind::kStatic:
      break;
  }
  return nullptr;
}

}  // namespace portico::discovery
