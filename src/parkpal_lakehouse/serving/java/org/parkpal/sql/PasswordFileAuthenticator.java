package org.parkpal.sql;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.List;

import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.security.sasl.AuthenticationException;

import org.apache.hive.service.auth.PasswdAuthenticationProvider;

/**
 * HiveServer2 CUSTOM authentication for `parkpal sql serve`: user names and PBKDF2-HMAC-SHA256 password
 * hashes in the file named by the system property `parkpal.sql.users` (lines `user:iterations:salt:hash`,
 * salt and hash base64; written by `parkpal sql user`). Read on every login, so a rotated password
 * takes effect at once.
 */
public final class PasswordFileAuthenticator implements PasswdAuthenticationProvider {

    @Override
    public void Authenticate(String user, String password) throws AuthenticationException {
        String file = System.getProperty("parkpal.sql.users");
        if (file == null || user == null || password == null || user.isEmpty() || password.isEmpty()) {
            throw new AuthenticationException("user name and password required");
        }
        try {
            List<String> lines = Files.readAllLines(Paths.get(file), StandardCharsets.UTF_8);
            for (String line : lines) {
                String[] f = line.trim().split(":");
                if (f.length != 4 || !f[0].equals(user)) {
                    continue;
                }
                int iterations = Integer.parseInt(f[1]);
                byte[] salt = Base64.getDecoder().decode(f[2]);
                byte[] expected = Base64.getDecoder().decode(f[3]);
                PBEKeySpec spec = new PBEKeySpec(password.toCharArray(), salt, iterations, expected.length * 8);
                byte[] got = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
                if (MessageDigest.isEqual(got, expected)) {
                    return;
                }
                break;
            }
        } catch (Exception e) {
            throw new AuthenticationException("cannot check the password");
        }
        throw new AuthenticationException("invalid user name or password");
    }
}
