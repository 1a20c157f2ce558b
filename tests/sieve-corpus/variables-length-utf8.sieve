require ["variables", "fileinto"];
set :length "l" "Grüße";
set :upper "u" "grüße";
fileinto "${l}-${u}";
