require ["date", "fileinto"];
if date :matches "x-nothing" "year" "*" { fileinto "Wrong"; }
if not date :matches "date" "year" "*" { fileinto "Wrong2"; }
