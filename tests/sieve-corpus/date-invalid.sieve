require ["date", "fileinto"];
if date :matches "date" "year" "*" { fileinto "Wrong"; }
if exists "date" { fileinto "HeaderThere"; }
