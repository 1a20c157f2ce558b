require ["editheader", "fileinto"];
addheader "X-Filtered" "by sieve";
if header :is "x-filtered" "by sieve" { fileinto "Seen"; }
