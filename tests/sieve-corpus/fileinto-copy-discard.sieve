require ["fileinto", "copy"];
fileinto :copy "C";
discard;
