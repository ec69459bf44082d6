#include "fake_server/tls_identity.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace talkcheck::fake_server {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;

constexpr char kDomain[] = "xmpp.example.test";

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};

std::unique_ptr<X509, X509Free> ParseCertificate(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

std::unique_ptr<EVP_PKEY, X509Free> ParseKey(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  std::unique_ptr<EVP_PKEY, X509Free> key(
      PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return key;
}

std::string CommonName(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return "";
  const ASN1_STRING* data =
      X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     ASN1_STRING_length(data));
}

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : ::testing::TempDir();
}

std::string WriteFile(absl::string_view name, const std::string& contents) {
  const std::string path = absl::StrCat(TempDir(), "/", name);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
  return path;
}

// What each side of one TLS connection saw.
struct HandshakeResult {
  boost::system::error_code server_error = asio::error::would_block;
  boost::system::error_code client_error = asio::error::would_block;
  std::string received;  // By the server, after the handshake.
  int version = 0;       // Negotiated, as the server saw it.
};

// Connects a client over 127.0.0.1 TCP to a server using `server_context`,
// handshakes, and sends "ping". Everything runs on one io_context, so the run
// ends as soon as both sides are done or have failed.
HandshakeResult Handshake(ssl::context& server_context,
                          ssl::context& client_context,
                          const std::string& server_name) {
  asio::io_context io;
  tcp::acceptor acceptor(io,
                         tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  ssl::stream<tcp::socket> server(io, server_context);
  ssl::stream<tcp::socket> client(io, client_context);
  HandshakeResult result;
  char buffer[4];

  acceptor.async_accept(server.next_layer(), [&](boost::system::error_code ec) {
    if (ec) {
      result.server_error = ec;
      return;
    }
    server.async_handshake(
        ssl::stream_base::server, [&](boost::system::error_code ec) {
          result.server_error = ec;
          if (ec) {
            server.next_layer().close(ec);
            return;
          }
          result.version = SSL_version(server.native_handle());
          asio::async_read(server, asio::buffer(buffer),
                           [&](boost::system::error_code ec, size_t n) {
                             if (!ec) result.received.assign(buffer, n);
                           });
        });
  });

  SSL_set_tlsext_host_name(client.native_handle(), server_name.c_str());
  client.set_verify_callback(ssl::host_name_verification(server_name));
  client.next_layer().async_connect(
      acceptor.local_endpoint(), [&](boost::system::error_code ec) {
        if (ec) {
          result.client_error = ec;
          return;
        }
        client.async_handshake(
            ssl::stream_base::client, [&](boost::system::error_code ec) {
              result.client_error = ec;
              if (ec) {
                client.next_layer().close(ec);
                return;
              }
              asio::async_write(client, asio::buffer("ping", 4),
                                [](boost::system::error_code, size_t) {});
            });
      });
  // A bound, not a wait: a broken handshake must fail the test, not hang it.
  io.run_for(std::chrono::seconds(30));
  return result;
}

// A client that trusts exactly `certificate_pem`.
std::unique_ptr<ssl::context> TrustingClient(
    const std::string& certificate_pem) {
  auto client = std::make_unique<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  client->add_certificate_authority(asio::buffer(certificate_pem), ec);
  EXPECT_FALSE(ec) << ec.message();
  client->set_verify_mode(ssl::verify_peer, ec);
  return client;
}

// Verifies the generated certificate: names, key, signature and validity.
TEST(TlsIdentityTest, GeneratesSelfSignedLocalhostCertificate) {
  absl::StatusOr<PemIdentity> identity =
      GenerateSelfSignedIdentity("localhost");
  ASSERT_TRUE(identity.ok()) << identity.status();
  auto cert = ParseCertificate(identity->certificate_pem);
  auto key = ParseKey(identity->private_key_pem);
  ASSERT_NE(cert, nullptr);
  ASSERT_NE(key, nullptr);

  EXPECT_EQ(CommonName(cert.get()), "localhost");
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "example.com", 0, 0, nullptr), 0);

  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_ecdsa_with_SHA256);
  EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_get_bits(key.get()), 256);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);

  time_t now = std::time(nullptr);
  time_t in_364_days = now + 364 * 24 * 3600;
  EXPECT_LT(X509_cmp_time(X509_get0_notBefore(cert.get()), &now), 0);
  EXPECT_GT(X509_cmp_time(X509_get0_notAfter(cert.get()), &in_364_days), 0);
}

// Verifies a non-local domain gets its name and no loopback addresses, and
// that two certificates never share a serial.
TEST(TlsIdentityTest, GeneratesCertificateForDomain) {
  absl::StatusOr<PemIdentity> a = GenerateSelfSignedIdentity(kDomain);
  absl::StatusOr<PemIdentity> b = GenerateSelfSignedIdentity(kDomain);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  auto cert = ParseCertificate(a->certificate_pem);
  auto other = ParseCertificate(b->certificate_pem);
  ASSERT_NE(cert, nullptr);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(CommonName(cert.get()), kDomain);
  EXPECT_EQ(X509_check_host(cert.get(), kDomain, 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 0);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(cert.get()),
                             X509_get0_serialNumber(other.get())),
            0);
  EXPECT_NE(a->private_key_pem, b->private_key_pem);
}

// Verifies that an IP literal becomes an iPAddress name.
TEST(TlsIdentityTest, GeneratesCertificateForIpAddress) {
  absl::StatusOr<PemIdentity> identity =
      GenerateSelfSignedIdentity("192.0.2.7");
  ASSERT_TRUE(identity.ok()) << identity.status();
  auto cert = ParseCertificate(identity->certificate_pem);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "192.0.2.7", 0), 1);
}

// Verifies that names that cannot go in a certificate are refused.
TEST(TlsIdentityTest, RejectsBadDomains) {
  for (absl::string_view domain :
       {"", "a,DNS:evil.example", "has space", "caf\xc3\xa9.example"}) {
    EXPECT_EQ(GenerateSelfSignedIdentity(domain).status().code(),
              absl::StatusCode::kInvalidArgument)
        << domain;
  }
}

// Verifies a real handshake against the generated identity, with the client
// checking the certificate and host name.
TEST(TlsIdentityTest, GeneratedContextHandshakes) {
  absl::StatusOr<std::unique_ptr<ssl::context>> server =
      MakeServerTlsContext(TlsIdentityOptions());
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(SSL_CTX_get_min_proto_version((*server)->native_handle()),
            TLS1_2_VERSION);

  // The generated certificate only lives in the context: trust it from there.
  X509* cert = SSL_CTX_get0_certificate((*server)->native_handle());
  ASSERT_NE(cert, nullptr);
  ssl::context client(ssl::context::tls_client);
  ASSERT_EQ(
      X509_STORE_add_cert(SSL_CTX_get_cert_store(client.native_handle()), cert),
      1);
  client.set_verify_mode(ssl::verify_peer);

  HandshakeResult result = Handshake(**server, client, "localhost");
  EXPECT_FALSE(result.server_error) << result.server_error.message();
  EXPECT_FALSE(result.client_error) << result.client_error.message();
  EXPECT_EQ(result.received, "ping");
  EXPECT_GE(result.version, TLS1_2_VERSION);
}

// Verifies loading PEM files, a handshake with a client trusting that file,
// and that the client's host name check is real.
TEST(TlsIdentityTest, LoadsIdentityFromFiles) {
  absl::StatusOr<PemIdentity> identity = GenerateSelfSignedIdentity(kDomain);
  ASSERT_TRUE(identity.ok()) << identity.status();
  TlsIdentityOptions options;
  options.certificate_file =
      WriteFile("files_cert.pem", identity->certificate_pem);
  options.private_key_file =
      WriteFile("files_key.pem", identity->private_key_pem);
  absl::StatusOr<std::unique_ptr<ssl::context>> server =
      MakeServerTlsContext(options);
  ASSERT_TRUE(server.ok()) << server.status();

  auto client = TrustingClient(identity->certificate_pem);
  HandshakeResult result = Handshake(**server, *client, kDomain);
  EXPECT_FALSE(result.server_error) << result.server_error.message();
  EXPECT_FALSE(result.client_error) << result.client_error.message();
  EXPECT_EQ(result.received, "ping");

  result = Handshake(**server, *client, "other.example.test");
  EXPECT_TRUE(result.client_error);
  EXPECT_TRUE(result.server_error);
  EXPECT_EQ(result.received, "");
}

// Verifies that a key from another identity is refused, naming the files.
TEST(TlsIdentityTest, RejectsMismatchedKey) {
  absl::StatusOr<PemIdentity> a = GenerateSelfSignedIdentity(kDomain);
  absl::StatusOr<PemIdentity> b = GenerateSelfSignedIdentity(kDomain);
  ASSERT_TRUE(a.ok() && b.ok());
  TlsIdentityOptions options;
  options.certificate_file = WriteFile("mismatch_cert.pem", a->certificate_pem);
  options.private_key_file = WriteFile("mismatch_key.pem", b->private_key_pem);
  absl::Status status = MakeServerTlsContext(options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), options.private_key_file))
      << status;
}

// Verifies that missing, unreadable and half-given files are refused.
TEST(TlsIdentityTest, RejectsMissingOrBadFiles) {
  absl::StatusOr<PemIdentity> identity = GenerateSelfSignedIdentity(kDomain);
  ASSERT_TRUE(identity.ok()) << identity.status();
  const std::string cert = WriteFile("bad_cert.pem", identity->certificate_pem);
  const std::string key = WriteFile("bad_key.pem", identity->private_key_pem);
  const std::string garbage = WriteFile("garbage.pem", "not a PEM file\n");
  const std::string missing = TempDir() + "/does_not_exist.pem";

  struct Case {
    std::string cert, key, named;
  };
  for (const Case& c :
       {Case{missing, key, missing}, Case{cert, missing, missing},
        Case{garbage, key, garbage}, Case{cert, garbage, garbage},
        Case{cert, "", ""}, Case{"", key, ""}}) {
    TlsIdentityOptions options;
    options.certificate_file = c.cert;
    options.private_key_file = c.key;
    absl::Status status = MakeServerTlsContext(options).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
        << c.cert << " " << c.key << ": " << status;
    EXPECT_TRUE(absl::StrContains(status.message(), c.named)) << status;
  }
}

}  // namespace
}  // namespace talkcheck::fake_server
