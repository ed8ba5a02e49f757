// OpenSSL's libcrypto (Debian libssl-dev), used for SHA-256 and HMAC-SHA256 only: artifact
// checksums and per-job artifact tokens. librabbitmq links it already.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
