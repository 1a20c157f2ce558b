require ["fileinto", "envelope", "subaddress"];
if envelope :detail "to" "sieve" { fileinto "Sieve"; }
if envelope :user "to" "me" { fileinto "Me"; }
