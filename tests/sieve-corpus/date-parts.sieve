require ["date", "fileinto", "relational"];
if date :is "date" "year" "2026" { fileinto "Y"; }
if date :is "date" "month" "12" { fileinto "M"; }
if date :is "date" "weekday" "4" { fileinto "Thu"; }
if date :value "ge" "date" "date" "2026-12-01" { fileinto "AfterFirst"; }
