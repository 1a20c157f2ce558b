require ["date", "fileinto"];
if date :is "date" "year" "2026" { fileinto "Y2026"; }
if date :is "date" "year" "1926" { fileinto "Y1926"; }
