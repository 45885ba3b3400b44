// Real password hashes for the auth tests, made once by the tools operators use (Debian 12:
// mkpasswd from whois 5.5, htpasswd from apache2-utils 2.4, Python 3.11's crypt module) and
// kept as text, so the tests check sesame against those tools' output, not against itself.
#pragma once

namespace sesame::auth::testing {

// The password of every hash below unless its name says otherwise.
inline constexpr const char* kPassword = "correct horse";

// printf %s "$P" | mkpasswd -s -m yescrypt            (default cost: j9T)
inline constexpr const char* kYescrypt =
    "$y$j9T$vStthqiIeX9C.NECPlwZg1$bZVeOCYKXs0JIBF2sQijNHGz7tKprEWjiVG4mIo1hE0";
// mkpasswd -s -m yescrypt -R 7
inline constexpr const char* kYescryptCost7 =
    "$y$jBT$.QWzU.qLBI6aMb.BEd7E4/$3NvPXQ3kggLqKzIteBPkli2mjAZMYF10efSqvT0rfD3";
// mkpasswd -s -m yescrypt -R 3, for "correct horse" and for "other"
inline constexpr const char* kYescryptCost3 =
    "$y$j7T$3Q0pnQMNnRogFazLGNgt5/$Egic9uWKnCiY1.amqgPB.ECD25q1lbnqLONZtsTHMg0";
inline constexpr const char* kYescryptCost3Other =
    "$y$j7T$SyHZ5dcmEZMsyQw.LoxzA1$a1.OsMUfxiNLP.ZbwWeJd.6sjP4Qcjh.gHq1ArR5sF7";
// mkpasswd -s -m sha512crypt / -R 10000 / sha256crypt
inline constexpr const char* kSha512 =
    "$6$rJnjwtHvLwIU6uQC$"
    "o9w9VpE3DDh4bDCEbO57OSknFcopAvphHI6dW34hUDMTL3Shw2ylSFGMTxBfkBbIMe0N5n07UA3"
    "K81b/T3zkM.";
inline constexpr const char* kSha512Rounds =
    "$6$rounds=10000$RySgDrYKn03IkmS4$"
    "30fWdFk7I7oQuCbUVwWuHMIKtEiXGxA4oohNx8Dj4tGeRmK6dH0m5eafBQJWov"
    "FOVtL/5LHStQrBLc3GrK2XT0";
inline constexpr const char* kSha256 =
    "$5$r45uRLsM8HNO8yoJ$NwjQvRH813y450BT2rYJSbc1w0kYiAeNY99/AlU4q15";
// mkpasswd -s -m bcrypt -R 5
inline constexpr const char* kBcrypt2b =
    "$2b$05$90DvM5FI5xIg69VNIpUjZeOk4SiKLvTsmMTllikRFTEw.C6Gtjzda";
// htpasswd -nbB -C 5 u "$P" / -C 12
inline constexpr const char* kBcrypt2y =
    "$2y$05$CsQjsW0teHtB074k.To7B.HF72pAN/0MOCldObrd6.B68XEzuAOjm";
inline constexpr const char* kBcryptCost12 =
    "$2y$12$AHN77iWccDd0Uh5kMPp6wem6Jv3NjOeMS5CLIO95LF2.4aAdn13aC";
// crypt.crypt(P, crypt.mksalt(crypt.METHOD_SHA512, rounds=6000)) / METHOD_SHA256
inline constexpr const char* kPySha512Rounds =
    "$6$rounds=6000$G226Td5t4szFrauR$sfrX8ikY9gj."
    "GoAZv6YUem09UfpBxZy7yOW7wXi1b2uDyGARd6W8HmtpWxVeXJP"
    "ndAlSIF5z0MsxS0/zUKU3n/";
inline constexpr const char* kPySha256 =
    "$5$MX0gvsjqN2utBRc3$b1iws1PVT/X4aQW/KUk2gQZS0UEEN05IBouKb2yoEPB";

// Of kUtf8Password: Python METHOD_SHA512, and mkpasswd -m yescrypt.
inline constexpr const char* kUtf8Password = "pässwörd ✓";
inline constexpr const char* kPyUtf8Sha512 =
    "$6$8FoFKED4MUYvajCN$"
    "eG6RwfViWlm3asKbj9JecvMGzvF5XOFkxMbvc1JE4M8PzlonMrJgj2AgzapeW8SJypgjsJ8nn3G"
    "8qD9QuqS84/";
inline constexpr const char* kYescryptUtf8 =
    "$y$j9T$ew7yMHHPt4YA2bPiyjyiA.$j9fBJJjtXcQ8xe6OkaOkwTMKmwRMjIYl4PW64IjcAx.";

// Of 511 'x' (the longest password crypt(3) takes): Python METHOD_SHA512, mkpasswd yescrypt.
inline constexpr const char* kPySha512Of511 =
    "$6$0uoNpKBD8QmhN/j8$Ku46PLLJ/"
    "gmO2rUclPxbe9iyDP3Dy1hg8g6j6XOhfruIvzSbDFwxAuws8DxNEiI7llQRODy2Lro"
    "CZ9EZLuOcp1";
inline constexpr const char* kYescryptOf511 =
    "$y$j9T$Oic4Onj3ZnX19pehkNvsp.$Ww9OFl4VH45r7qZztjCzo2lXgL69Nas6oOd9llZXn/0";
// Of 72 'b': crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32)
inline constexpr const char* kPyBcryptOf72 =
    "$2b$05$OeJxtp/POW7Q2LQ0VGokAeW5TqzinEjcJYk3ZbS.nhaYeAv4Pm5NO";
// Of 80 'b': htpasswd -nbB -C 5, which silently hashed the first 72.
inline constexpr const char* kHtpasswdBcryptOf80 =
    "$2y$05$uVaubt/W8.5rJ8mJRxpYRu7LxsPJ24S5ZzQioYlLKrEYw3ELRlcJq";

// Kinds sesame refuses: htpasswd -m, -s, -d; mkpasswd md5crypt, bcrypt-a, scrypt, gost-yescrypt.
inline constexpr const char* kApr1 = "$apr1$JOK5jJOS$Z3SsNMKWOUom6C1MTkEsq/";
inline constexpr const char* kSha1 = "{SHA}L55TUjtiq8FBorTWAZ0jy6g129A=";
inline constexpr const char* kDes = "5aI/KDHPmT76Y";
inline constexpr const char* kMd5crypt = "$1$ew7/Lvox$UlTu7la29y/5df2Tbz5vI.";
inline constexpr const char* kBcrypt2a =
    "$2a$05$qMStDa7lf0cyO1qWXk5M1.d95lAZPKZ01uHfvcB2LBmjWZnE4vBw2";
inline constexpr const char* kScrypt =
    "$7$CU..../....nqM0YlctEEIih41jzj42S.$s/ju6vgrrOq.Y7xDirLEuxTDQ2Z5eY/Xd/ID57ucyA9";
inline constexpr const char* kGostYescrypt =
    "$gy$j9T$eLt/Tog4boippHvfoy0Lf1$PcsDdUCtatcn53./2jpqP0tNjFyMF.5PERalBmpGiG5";

}  // namespace sesame::auth::testing
