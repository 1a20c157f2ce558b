require ["body", "fileinto"];
if body :text :contains "banana" { fileinto "Banana"; }
if body :text :contains "html-only" { fileinto "Html"; }
if body :text :contains "attachment payload" { fileinto "Wrong"; }
