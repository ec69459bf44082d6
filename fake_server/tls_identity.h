// The fake server's TLS identity: a certificate and key from files, or a
// self-signed certificate made at start for the server's domain (so STARTTLS
// works with no setup; clients under test are told to accept it).
#ifndef TALKCHECK_FAKE_SERVER_TLS_IDENTITY_H_
#define TALKCHECK_FAKE_SERVER_TLS_IDENTITY_H_

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace talkcheck::fake_server {

struct TlsIdentityOptions {
  // PEM files. Both empty: generate a self-signed certificate. One empty: an
  // error.
  std::string certificate_file;
  std::string private_key_file;
  // Subject CN and subjectAltName dNSName of a generated certificate.
  std::string domain = "localhost";
};

// A server-side context (TLS 1.2 and 1.3) holding the identity.
// kInvalidArgument when the files cannot be read or do not match, kInternal
// when OpenSSL fails.
absl::StatusOr<std::unique_ptr<boost::asio::ssl::context>> MakeServerTlsContext(
    const TlsIdentityOptions& options);

// The PEM text of a freshly generated self-signed certificate and its key, for
// tests and tools that want to write them out (e.g. to give a client a CA
// file).
struct PemIdentity {
  std::string certificate_pem;
  std::string private_key_pem;
};
absl::StatusOr<PemIdentity> GenerateSelfSignedIdentity(
    absl::string_view domain);

}  // namespace talkcheck::fake_server

#endif  // TALKCHECK_FAKE_SERVER_TLS_IDENTITY_H_
