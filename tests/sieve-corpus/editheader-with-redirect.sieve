require ["editheader", "copy"];
addheader "X-Forwarded-By" "sieve";
redirect :copy "other@example.net";
