require ["variables", "fileinto"];
set "a" "Hello World";
set :lower "lo" "${a}";
set :upper "up" "${a}";
set :upperfirst "uf" "hello";
set :lowerfirst "lf" "HELLO";
set :length "len" "${a}";
set :quotewildcard "q" "a*b?c\\d";
fileinto "V/${lo}/${up}/${uf}/${lf}/${len}/${q}";
