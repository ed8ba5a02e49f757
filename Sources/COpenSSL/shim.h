// OpenSSL's libcrypto (Debian libssl-dev): SHA-256 and HMAC-SHA256 (artifact checksums,
// per-job artifact tokens, signed events) and AES-128-CBC (GoCD's encrypted values). librabbitmq
// links it already.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
