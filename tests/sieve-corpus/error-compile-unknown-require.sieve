require ["fileinto", "x-unknown-ext"];
keep;
