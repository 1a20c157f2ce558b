require ["body", "fileinto"];
if body :contains "numbers look good" { fileinto "Good"; }
if body :matches "*quarterly*attached*" { fileinto "Matches"; }
