// AWS credentials, found as the SDKs find them (the default chain), cached, and refreshed before
// temporary ones expire.
//
// The chain, first match wins:
//  1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN). Skipped when
//     tide's config names a `profile:` (the profile was asked for; as botocore with an explicit
//     profile). Only one of the two keys set is an error.
//  2. shared files (shared_config.hpp): the profile's aws_access_key_id / aws_secret_access_key
//     (/ aws_session_token); or, when the profile has role_arn + web_identity_token_file, web
//     identity as in 3. Other role settings (source_profile, credential_source,
//     credential_process, sso_*) are not supported and say so. A profile named explicitly (config
//     or AWS_PROFILE) that neither file has is an error.
//  3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN [+ AWS_ROLE_SESSION_NAME] ->
//     STS AssumeRoleWithWebIdentity (unsigned POST to the STS endpoint of endpoint.hpp, so
//     AWS_ENDPOINT_URL_STS points it at a fake). The token file is read at every refresh.
//  4. container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (http://169.254.170.2 + URI) or
//     AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http to a loopback address or the ECS/EKS
//     agents 169.254.170.2, 169.254.170.23, [fd00:ec2::23]), with the Authorization header from
//     AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or AWS_CONTAINER_AUTHORIZATION_TOKEN.
//  5. EC2 instance metadata (IMDSv2): PUT /latest/api/token, then GET
//     /latest/meta-data/iam/security-credentials/ and .../<role>. Base URL
//     AWS_EC2_METADATA_SERVICE_ENDPOINT (default http://169.254.169.254); skipped when
//     AWS_EC2_METADATA_DISABLED=true. Timeout AWS_METADATA_SERVICE_TIMEOUT seconds (1), attempts
//     AWS_METADATA_SERVICE_NUM_ATTEMPTS (1). A server without the token API (404/405) is read
//     without a token (IMDSv1), as the SDKs do.
// When nothing matches, the error lists what was tried. A step that is configured but fails
// (STS rejects the token, the container endpoint is down) stops the chain with its error; only
// IMDS failures fall through to "no credentials".
//
// Caching and refresh: the first step that gave credentials is remembered. Temporary credentials
// are refreshed `refresh_ahead` (5 min) before they expire; when a refresh fails, the old ones
// are used until they actually expire. invalidate() forces a refresh (after ExpiredToken).
// Thread-safe: concurrent callers wait for one refresh.
//
// Secrets (secret access key, session token, web identity and container tokens) never appear in
// an error message: messages name the source and the variable or file, never values.
#pragma once

#include <memory>
#include <string>

#include "aws/env.hpp"
#include "aws/sigv4.hpp"
#include "core/clock.hpp"
#include "core/http.hpp"
#include "core/result.hpp"

namespace tide::aws {

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  // Valid credentials (refreshed when needed), or why there are none. Never blocks longer than
  // the provider's own timeouts; thread-safe.
  virtual Result<Credentials> get() = 0;
  // Drops cached temporary credentials: the next get() fetches new ones.
  virtual void invalidate() = 0;
};

struct CredentialsOptions {
  Env env;                       // the environment to read (process_env() in live code)
  const Clock* clock = nullptr;  // required
  HttpClient* http = nullptr;    // required (STS, container, IMDS)
  std::string profile;           // tide's `profile:` key ("" = from the environment)
  std::string region;            // for the STS endpoint ("" = the global endpoint)
  Duration refresh_ahead = std::chrono::minutes(5);
};

// The default chain described above.
std::shared_ptr<CredentialsProvider> make_default_credentials(CredentialsOptions options);

// Fixed credentials (tests, tools).
std::shared_ptr<CredentialsProvider> make_static_credentials(Credentials credentials);

// A process-wide default chain per (profile, region): live clients share it so that IMDS and STS
// are asked once, not once per group. Reads the process environment and the system clock.
std::shared_ptr<CredentialsProvider> shared_default_credentials(const std::string& profile,
                                                                const std::string& region);

// Parses the JSON the container endpoint and IMDS return ({"AccessKeyId", "SecretAccessKey",
// "Token", "Expiration"}). `source` names it in errors.
Result<Credentials> parse_credentials_json(std::string_view body, const std::string& source);

// Parses an AssumeRoleWithWebIdentity response.
Result<Credentials> parse_assume_role_response(std::string_view body, const std::string& source);

}  // namespace tide::aws
