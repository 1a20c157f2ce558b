require ["variables", "fileinto"];
set :upper :lowerfirst "x" "hello";
set :length :upper "y" "abc";
fileinto "${x}-${y}";
