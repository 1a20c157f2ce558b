require ["fileinto", "envelope"];
if envelope :is "from" "dev-bounces@lists.example.org" { fileinto "EnvFrom"; }
if envelope :domain "to" "example.com" { fileinto "EnvTo"; }
