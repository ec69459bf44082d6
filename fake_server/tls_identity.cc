#include "fake_server/tls_identity.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>
#include <cerrno>
#include <cstdio>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace talkcheck::fake_server {
namespace {

namespace ssl = boost::asio::ssl;

struct OpenSslFree {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(ASN1_STRING* p) const { ASN1_STRING_free(p); }
  void operator()(GENERAL_NAME* p) const { GENERAL_NAME_free(p); }
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
template <typename T>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree>;

constexpr long kSecondsPerHour = 60 * 60;
// Back-dated so that a client whose clock is a little behind still accepts it.
constexpr long kNotBeforeOffset = -kSecondsPerHour;
constexpr long kValidity = 365 * 24 * kSecondsPerHour;
// RFC 5280 ub-common-name: a longer domain goes in subjectAltName only.
constexpr size_t kMaxCommonName = 64;

// Drains OpenSSL's thread-local error queue into one line, so that a later,
// unrelated call does not find our errors there.
std::string DrainOpenSslErrors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
  }
  return out.empty() ? "no OpenSSL error recorded" : out;
}

absl::Status OpenSslError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", DrainOpenSslErrors()));
}

// Host names only (LDH labels, '_' tolerated for test setups); an IP literal is
// handled separately. Commas, spaces and non-ASCII would not fit an IA5String
// dNSName anyway.
bool IsPlausibleHostName(absl::string_view domain) {
  if (domain.empty() || domain.size() > 253) return false;
  for (char c : domain) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '.' && c != '_') {
      return false;
    }
  }
  return true;
}

bool IsLocalhost(absl::string_view domain) {
  return absl::EqualsIgnoreCase(domain, "localhost") ||
         absl::EndsWithIgnoreCase(domain, ".localhost");
}

// Appends an iPAddress entry; `ip` is textual IPv4 or IPv6.
bool AddIpName(GENERAL_NAMES* names, const std::string& ip) {
  OpenSslPtr<ASN1_STRING> octets(a2i_IPADDRESS(ip.c_str()));
  OpenSslPtr<GENERAL_NAME> name(GENERAL_NAME_new());
  if (!octets || !name) return false;
  GENERAL_NAME_set0_value(name.get(), GEN_IPADD, octets.release());
  if (sk_GENERAL_NAME_push(names, name.get()) == 0) return false;
  name.release();
  return true;
}

bool AddDnsName(GENERAL_NAMES* names, absl::string_view host) {
  OpenSslPtr<ASN1_STRING> ia5(ASN1_IA5STRING_new());
  OpenSslPtr<GENERAL_NAME> name(GENERAL_NAME_new());
  if (!ia5 || !name ||
      ASN1_STRING_set(ia5.get(), host.data(), static_cast<int>(host.size())) !=
          1) {
    return false;
  }
  GENERAL_NAME_set0_value(name.get(), GEN_DNS, ia5.release());
  if (sk_GENERAL_NAME_push(names, name.get()) == 0) return false;
  name.release();
  return true;
}

// subjectAltName, built from GENERAL_NAMEs rather than a config string so a
// domain can never inject extra entries.
absl::Status AddSubjectAltName(X509* cert, absl::string_view domain,
                               bool domain_is_ip) {
  OpenSslPtr<GENERAL_NAMES> names(sk_GENERAL_NAME_new_null());
  if (!names) return OpenSslError("subjectAltName");
  bool ok = domain_is_ip ? AddIpName(names.get(), std::string(domain))
                         : AddDnsName(names.get(), domain);
  // Clients dialling 127.0.0.1 or ::1 instead of "localhost" then verify too.
  if (ok && IsLocalhost(domain)) {
    ok = AddIpName(names.get(), "127.0.0.1") && AddIpName(names.get(), "::1");
  }
  if (!ok || X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0,
                               X509V3_ADD_DEFAULT) != 1) {
    return OpenSslError("subjectAltName");
  }
  return absl::OkStatus();
}

absl::Status AddExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  OpenSslPtr<X509_EXTENSION> ext(
      X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslError(absl::StrCat("extension ", OBJ_nid2sn(nid)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ToPem(int (*write)(BIO*, const void*),
                                  const void* object) {
  OpenSslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get(), object) != 1) return OpenSslError("PEM write");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

int WriteCertificate(BIO* bio, const void* cert) {
  return PEM_write_bio_X509(bio, static_cast<const X509*>(cert));
}

// PKCS#8, unencrypted: the key only lives as long as the test or tool run.
int WritePrivateKey(BIO* bio, const void* key) {
  return PEM_write_bio_PrivateKey(bio, static_cast<const EVP_PKEY*>(key),
                                  nullptr, nullptr, 0, nullptr, nullptr);
}

// OpenSSL 3 reports a missing file as a bare "system library" error that Asio
// renders as "asio.ssl error"; checking first gives the errno text instead.
absl::Status CheckReadable(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const std::error_code error(errno, std::generic_category());
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", path, ": ", error.message()));
  }
  std::fclose(file);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ssl::context>> NewServerContext() {
  std::unique_ptr<ssl::context> context;
  // The constructor is Asio's one throwing path here (SSL_CTX_new failing).
  try {
    context = std::make_unique<ssl::context>(ssl::context::tls_server);
  } catch (const boost::system::system_error& e) {
    return absl::InternalError(absl::StrCat("SSL_CTX_new: ", e.what()));
  }
  boost::system::error_code ec;
  context->set_options(ssl::context::default_workarounds |
                           ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                           ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                       ec);
  if (ec) return absl::InternalError("set_options: " + ec.message());
  // The options above are per version; the floor also covers versions a
  // future OpenSSL might add below it.
  if (SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) !=
      1) {
    return OpenSslError("SSL_CTX_set_min_proto_version");
  }
  return context;
}

}  // namespace

absl::StatusOr<PemIdentity> GenerateSelfSignedIdentity(
    absl::string_view domain) {
  ERR_clear_error();
  const std::string domain_text(domain);
  OpenSslPtr<ASN1_STRING> ip(a2i_IPADDRESS(domain_text.c_str()));
  ERR_clear_error();  // Not being an IP literal is no error.
  const bool domain_is_ip = ip != nullptr;
  if (!domain_is_ip && !IsPlausibleHostName(domain)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not a host name or IP address for a certificate: \"", domain, "\""));
  }

  // P-256: generated in well under a millisecond, unlike RSA.
  OpenSslPtr<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("EC P-256 key generation");

  OpenSslPtr<X509> cert(X509_new());
  OpenSslPtr<BIGNUM> serial(BN_new());
  if (!cert || !serial) return OpenSslError("X509_new");
  // 127 random bits with the top one set: positive, non-zero and well under
  // RFC 5280's 20 octets, and unique enough that clients caching
  // issuer+serial never confuse two runs.
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      BN_rand(serial.get(), 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) ==
          nullptr ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), kNotBeforeOffset) ==
          nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValidity) == nullptr) {
    return OpenSslError("certificate serial or validity");
  }

  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (domain.size() <= kMaxCommonName &&
      X509_NAME_add_entry_by_NID(
          subject, NID_commonName, MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(domain.data()),
          static_cast<int>(domain.size()), -1, 0) != 1) {
    return OpenSslError("subject CN");
  }
  if (X509_set_issuer_name(cert.get(), subject) != 1 ||
      X509_set_pubkey(cert.get(), key.get()) != 1) {
    return OpenSslError("issuer or public key");
  }

  // A leaf, not a CA (some clients refuse a CA certificate as a server's), and
  // no keyUsage: without keyCertSign OpenSSL would not treat it as
  // self-signed, and clients given it as their trust anchor would fail.
  absl::Status status = AddSubjectAltName(cert.get(), domain, domain_is_ip);
  if (status.ok()) {
    status =
        AddExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  }
  if (status.ok()) {
    status = AddExtension(cert.get(), NID_ext_key_usage, "serverAuth");
  }
  if (status.ok()) {
    status = AddExtension(cert.get(), NID_subject_key_identifier, "hash");
  }
  if (!status.ok()) return status;

  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    return OpenSslError("X509_sign");
  }

  PemIdentity identity;
  absl::StatusOr<std::string> pem = ToPem(&WriteCertificate, cert.get());
  if (!pem.ok()) return pem.status();
  identity.certificate_pem = *std::move(pem);
  pem = ToPem(&WritePrivateKey, key.get());
  if (!pem.ok()) return pem.status();
  identity.private_key_pem = *std::move(pem);
  return identity;
}

absl::StatusOr<std::unique_ptr<ssl::context>> MakeServerTlsContext(
    const TlsIdentityOptions& options) {
  const std::string& cert_file = options.certificate_file;
  const std::string& key_file = options.private_key_file;
  if (cert_file.empty() != key_file.empty()) {
    return absl::InvalidArgumentError(
        "give both certificate_file and private_key_file, or neither to "
        "generate a self-signed certificate");
  }
  if (!cert_file.empty()) {
    absl::Status status = CheckReadable(cert_file);
    if (status.ok()) status = CheckReadable(key_file);
    if (!status.ok()) return status;
  }
  ERR_clear_error();
  absl::StatusOr<std::unique_ptr<ssl::context>> context = NewServerContext();
  if (!context.ok()) return context.status();
  SSL_CTX* native = (*context)->native_handle();
  boost::system::error_code ec;

  if (cert_file.empty()) {
    absl::StatusOr<PemIdentity> pem =
        GenerateSelfSignedIdentity(options.domain);
    if (!pem.ok()) return pem.status();
    (*context)->use_certificate_chain(boost::asio::buffer(pem->certificate_pem),
                                      ec);
    if (!ec) {
      (*context)->use_private_key(boost::asio::buffer(pem->private_key_pem),
                                  ssl::context::pem, ec);
    }
    if (ec) {
      ERR_clear_error();
      return absl::InternalError("loading the generated identity: " +
                                 ec.message());
    }
  } else {
    (*context)->use_certificate_chain_file(cert_file, ec);
    if (ec) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load certificate chain from ", cert_file, ": ",
                       ec.message()));
    }
    // OpenSSL already refuses here a key that does not fit a certificate of
    // the same key type.
    (*context)->use_private_key_file(key_file, ssl::context::pem, ec);
    if (ec) {
      ERR_clear_error();
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot load private key from ", key_file, " (or it does not match ",
          cert_file, "): ", ec.message()));
    }
  }

  // Catches a key of another type, which OpenSSL files in a separate slot
  // without complaint, leaving the certificate with no key.
  if (SSL_CTX_check_private_key(native) != 1) {
    const std::string errors = DrainOpenSslErrors();
    if (cert_file.empty()) {
      return absl::InternalError("generated key does not match: " + errors);
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "private key in ", key_file, " does not match the certificate in ",
        cert_file, ": ", errors));
  }
  return context;
}

}  // namespace talkcheck::fake_server
