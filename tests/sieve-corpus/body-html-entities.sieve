require ["body", "fileinto"];
if body :text :contains "Tom & Jerry" { fileinto "Entity"; }
if body :text :contains "<b>" { fileinto "Wrong"; }
if body :text :contains "hidden-style" { fileinto "Wrong2"; }
if body :content "text/html" :contains "<b>" { fileinto "HtmlRaw"; }
