require ["fileinto", "relational"];
if header :value "gt" "subject" "P" { fileinto "AfterP"; }
if header :value "le" "from" "a" { fileinto "Wrong"; }
