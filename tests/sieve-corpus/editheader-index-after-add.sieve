require ["editheader", "index", "fileinto"];
addheader :last "X-Tag" "a";
addheader :last "X-Tag" "b";
deleteheader :index 1 "x-tag";
if header :is "x-tag" "b" { fileinto "B"; }
if header :is "x-tag" "a" { fileinto "Wrong"; }
